// Progressive enhancement only: every page works without this file.
document.addEventListener("DOMContentLoaded", () => {
  // Filter forms submit when a menu changes.
  document.querySelectorAll("form[data-autosubmit] select").forEach((el) => {
    el.addEventListener("change", () => el.form.requestSubmit());
  });
  // Program upload: a chosen file fills the source box (read locally, never sent as a file).
  document.querySelectorAll("input[type=file][data-load-into]").forEach((el) => {
    el.addEventListener("change", () => {
      const target = document.getElementById(el.dataset.loadInto);
      const file = el.files && el.files[0];
      if (!target || !file) return;
      file.text().then((text) => { target.value = text; });
    });
  });
  // One-time secrets are selected on focus so they are easy to copy.
  document.querySelectorAll("input.copy").forEach((el) => {
    el.addEventListener("focus", () => el.select());
  });
});
