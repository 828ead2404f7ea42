// Small behaviours htmx does not cover, kept out of the markup because the CSP forbids inline script.

// Plain (non-htmx) forms ask for confirmation when their submit button carries data-confirm.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-confirm]");
  if (button && !window.confirm(button.dataset.confirm)) {
    event.preventDefault();
  }
});

// Live fragments are morphed in place (webapp/live.py): a refresh must not undo what the operator is doing,
// so the field being typed in keeps its value and a <details> opened (or closed) by hand stays so.
if (window.Idiomorph) {
  Idiomorph.defaults.ignoreActiveValue = true;
  Idiomorph.defaults.callbacks.beforeAttributeUpdated = (name, element) =>
    !(name === "open" && element.tagName === "DETAILS");
}
