// Keyboard and scanner first.
document.addEventListener("DOMContentLoaded", () => {
  // After a failed submit, the cursor goes to the first field with an error.
  const invalid = document.querySelector("input[aria-invalid='true'], select[aria-invalid='true'], textarea[aria-invalid='true']");
  if (invalid) invalid.focus();
});

// A scanner types the barcode and presses Enter. In a scan field, Enter cleans the text of the
// control characters scanners add, asks the server about the lot (htmx trigger "scan") and moves
// to the next field instead of submitting a half-filled form.
document.addEventListener("keydown", (event) => {
  const field = event.target;
  if (event.key !== "Enter" || !(field instanceof HTMLInputElement) || !field.matches("[data-scan]")) return;
  if (!field.form || field.form.method.toLowerCase() === "get") return;
  event.preventDefault();
  field.value = field.value.replace(/[\u0000-\u001f\u007f]/g, "").trim();
  field.dispatchEvent(new Event("scan", { bubbles: true }));
  const controls = Array.from(field.form.querySelectorAll("input:not([type=hidden]), select, textarea, button"));
  const next = controls[controls.indexOf(field) + 1];
  if (next) next.focus();
});
