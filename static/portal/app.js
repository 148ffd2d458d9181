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

// Long checkbox lists (an agent's tools) get a filter box.
const filterables = new Set(
  [...document.querySelectorAll("input[data-filterable]")].map((input) => input.closest(".field"))
);
filterables.forEach((field) => {
  if (!field) return;
  const box = document.createElement("input");
  box.type = "search";
  box.placeholder = "Filter tools…";
  box.className = "checkbox-filter";
  box.setAttribute("aria-label", "Filter tools");
  field.querySelector("label")?.after(box);
  field.classList.add("filterable");
  box.addEventListener("input", () => {
    const wanted = box.value.trim().toLowerCase();
    field.querySelectorAll("input[data-filterable]").forEach((input) => {
      const row = input.closest("label")?.parentElement ?? input;
      row.hidden = wanted !== "" && !input.value.toLowerCase().includes(wanted);
    });
  });
});

// Destructive forms ask first: <form data-confirm="Delete …?">.
document.addEventListener("submit", (event) => {
  const message = event.target.dataset.confirm;
  if (message && !window.confirm(message)) event.preventDefault();
});
