// Small page behaviours bound here rather than in inline handlers, so the
// Content-Security-Policy can forbid inline script everywhere.
document.addEventListener("click", (event) => {
  const field = event.target.closest("input[data-select-on-click]");
  if (field) field.select();
  const button = event.target.closest("button[data-copy]");
  if (button) {
    const source = document.getElementById(button.dataset.copy);
    navigator.clipboard.writeText(source.value).then(() => {
      button.textContent = "Copied";
    });
  }
});

// Destructive forms ask first: <form data-confirm="Delete …?">.
document.addEventListener("submit", (event) => {
  const message = event.target.dataset.confirm;
  if (message && !window.confirm(message)) event.preventDefault();
});
