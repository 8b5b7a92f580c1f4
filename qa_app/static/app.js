// Keyboard first: after a failed submit, the cursor goes to the first field with an error.
document.addEventListener("DOMContentLoaded", () => {
  const invalid = document.querySelector("input[aria-invalid='true'], select[aria-invalid='true'], textarea[aria-invalid='true']");
  if (invalid) invalid.focus();
});
