// Small behaviours htmx does not cover, kept out of the markup because the CSP forbids inline script.

// Plain (non-htmx) forms ask for confirmation when their submit button carries data-confirm.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-confirm]");
  if (button && !window.confirm(button.dataset.confirm)) {
    event.preventDefault();
  }
});
