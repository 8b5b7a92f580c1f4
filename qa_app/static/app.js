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

// After the server refuses a scan (unknown, expired, quarantined, wrong material), the cursor goes
// back to the scan field with its text selected, so the next scan replaces it. After a good scan
// it stays where Enter moved it: the weight, with the target beside it.
document.addEventListener("htmx:afterSettle", (event) => {
  const field = event.detail.requestConfig && event.detail.requestConfig.elt;
  if (!(field instanceof HTMLInputElement) || !field.matches("[data-scan]")) return;
  const answer = event.detail.target && event.detail.target.querySelector
    ? event.detail.target.querySelector(".lot-check.mark-fail") : null;
  // An answer about an earlier value (a new scan already typed) moves nothing.
  if (!answer || answer.dataset.scanned.trim() !== field.value.trim()) return;
  field.focus();
  field.select();
});

// A spreadsheet column pasted into a cell of a value grid fills that cell and the ones after it,
// one line per cell, each line as it is (the server names a cell that is not one number). More
// lines than cells left fill nothing: no value is ever dropped.
document.addEventListener("paste", (event) => {
  const cell = event.target;
  const grid = cell instanceof HTMLInputElement ? cell.closest("[data-grid]") : null;
  if (!grid) return;
  const lines = (event.clipboardData || window.clipboardData).getData("text").split(/\r\n|\r|\n/);
  while (lines.length && !lines[lines.length - 1].trim()) lines.pop(); // the column's last line break
  if (lines.length < 2) return;
  event.preventDefault();
  const cells = Array.from(grid.querySelectorAll("input"));
  const start = cells.indexOf(cell);
  const room = cells.length - start;
  let note = grid.querySelector(".paste-error");
  if (lines.length > room) {
    if (!note) {
      note = document.createElement("small");
      note.className = "field-error paste-error";
      note.setAttribute("role", "alert");
      grid.appendChild(note);
    }
    note.textContent = `${lines.length} lines pasted for ${room} cells from unit ${start + 1}: nothing was filled. Paste one value per unit.`;
    return;
  }
  if (note) note.remove();
  lines.forEach((line, i) => { cells[start + i].value = line.trim(); });
  (cells[Math.min(start + lines.length, cells.length - 1)] || cell).focus();
});

// A table wider than its column scrolls inside its wrapper: the wrapper then takes the keyboard
// focus (the arrow keys scroll it) and is named after its table, so no part is out of reach
// without a mouse. A wrapper that does not scroll stays out of the tab order.
function regionName(box) {
  const caption = box.querySelector("caption");
  if (caption) return caption.textContent.trim();
  const section = box.closest("section[aria-labelledby]");
  const heading = section && document.getElementById(section.getAttribute("aria-labelledby"));
  return heading ? `${heading.textContent.trim()} (scrolls sideways)` : "Table (scrolls sideways)";
}
function markScrollingTables() {
  document.querySelectorAll(".overflow-auto").forEach((box) => {
    if (box.scrollWidth > box.clientWidth + 1) {
      box.tabIndex = 0;
      box.setAttribute("role", "region");
      if (!box.hasAttribute("aria-label")) box.setAttribute("aria-label", regionName(box));
    } else if (box.getAttribute("role") === "region") {
      box.removeAttribute("tabindex");
      box.removeAttribute("role");
      box.removeAttribute("aria-label");
    }
  });
}
document.addEventListener("DOMContentLoaded", markScrollingTables);
window.addEventListener("resize", markScrollingTables);
document.addEventListener("htmx:afterSettle", markScrollingTables);

// The batch record's step bar: following a step's link opens that step if it is closed.
function openStep(hash) {
  const target = hash ? document.getElementById(hash.slice(1)) : null;
  if (target instanceof HTMLDetailsElement) target.open = true;
}
document.addEventListener("click", (event) => {
  const link = event.target instanceof Element ? event.target.closest("nav.step-bar a[href^='#']") : null;
  if (link) openStep(link.getAttribute("href"));
});
window.addEventListener("hashchange", () => openStep(window.location.hash));
document.addEventListener("DOMContentLoaded", () => openStep(window.location.hash));
