// Keyboard and scanner first.
document.documentElement.classList.add("js"); // hides the buttons that stand in for htmx
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

// A spreadsheet column pasted into a cell of a value grid fills that cell and the ones after it.
document.addEventListener("paste", (event) => {
  const cell = event.target;
  const grid = cell instanceof HTMLInputElement ? cell.closest("[data-grid]") : null;
  if (!grid) return;
  const parts = (event.clipboardData || window.clipboardData).getData("text").split(/[\s;]+/).filter(Boolean);
  if (parts.length < 2) return;
  event.preventDefault();
  const cells = Array.from(grid.querySelectorAll("input"));
  let i = cells.indexOf(cell);
  for (const part of parts) {
    if (i >= cells.length) break;
    cells[i++].value = part;
  }
  (cells[Math.min(i, cells.length - 1)] || cell).focus();
});
