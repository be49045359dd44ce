// Progressive enhancement only: every page works without this file.
document.addEventListener("DOMContentLoaded", () => {
  // Filter forms submit when a menu changes.
  document.querySelectorAll("form[data-autosubmit] select").forEach((el) => {
    el.addEventListener("change", () => el.form.requestSubmit());
  });
  // One-time secrets are selected on focus so they are easy to copy.
  document.querySelectorAll("input.copy").forEach((el) => {
    el.addEventListener("focus", () => el.select());
  });
});
