// Contacts table: "select every row on this page" and the selected count. htmx replaces the table on every
// search, so the listener is delegated from the document instead of bound to the rows.
document.addEventListener("change", (event) => {
  const form = event.target.closest("#bulk-form");
  if (!form) {
    return;
  }
  const boxes = form.querySelectorAll("input[name=ids]");
  if (event.target.matches("[data-select-all]")) {
    boxes.forEach((box) => { box.checked = event.target.checked; });
  }
  const scopeAll = form.querySelector("[data-scope-all]");
  const count = form.querySelector("[data-selected-count]");
  if (count) {
    const ticked = Array.from(boxes).filter((box) => box.checked).length;
    count.textContent = scopeAll && scopeAll.checked ? "All matching selected" : `${ticked} selected`;
  }
});
