// Small page behaviours bound here rather than in inline handlers, so the
// Content-Security-Policy can forbid inline script everywhere.
document.addEventListener("click", (event) => {
  const field = event.target.closest("input[data-select-on-click]");
  if (field) field.select();
  const button = event.target.closest("button[data-copy]");
  if (button) {
    const source = document.getElementById(button.dataset.copy);
    navigator.clipboard.writeText(source.value ?? source.textContent.trim()).then(() => {
      button.textContent = "Copied";
    });
  }
});

// Small screens: the main navigation opens from its Menu button.
document.addEventListener("click", (event) => {
  const toggle = event.target.closest("button[data-toggle-nav]");
  if (!toggle) return;
  const open = toggle.closest(".topbar").classList.toggle("nav-open");
  toggle.setAttribute("aria-expanded", String(open));
});

// Destructive forms ask first: <form data-confirm="Delete …?">.
document.addEventListener("submit", (event) => {
  const message = event.target.dataset.confirm;
  if (message && !window.confirm(message)) event.preventDefault();
});
