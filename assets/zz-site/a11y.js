/* Two gaps in Dash 4's components that axe-core finds, closed here until Dash closes them.
 *
 * 1. Dash 4's Dropdown puts keyboard focus on a hidden helper input (aria-hidden="true", tabindex="0")
 * and takes its button out of the tab order, so a screen reader announces nothing where the focus lands
 * (axe-core: aria-hidden-focus, serious). Until Dash fixes it, give that input what the button knows:
 * no aria-hidden, the combobox role, the button's accessible name and expanded state. Ours, served from
 * the app's assets (the CSP allows 'self' scripts only).
 *
 * 2. dcc.Upload's file input has no label (axe-core: label, critical): give it the text of the
 * <label for=...> that names the Upload. */
(function () {
  function nameOf(button) {
    var ids = (button.getAttribute("aria-labelledby") || "").split(/\s+/);
    var label = document.querySelector('label[for="' + button.id + '"]');
    var parts = label ? [label.textContent.trim()] : [];
    ids.forEach(function (id) {
      var el = id && document.getElementById(id);
      if (el && el.textContent.trim()) parts.push(el.textContent.trim());
    });
    return parts.join(": ");
  }
  function set(el, name, value) {
    // only when it changes: setting an attribute is itself a mutation the observer sees
    if (value === null) {
      if (el.hasAttribute(name)) el.removeAttribute(name);
    } else if (el.getAttribute(name) !== value) {
      el.setAttribute(name, value);
    }
  }
  function fix(target) {
    var button = target.nextElementSibling;
    if (!button || !button.classList.contains("dash-dropdown")) return;
    set(target, "aria-hidden", null);
    set(target, "role", "combobox");
    set(target, "aria-haspopup", "listbox");
    set(target, "aria-expanded", button.getAttribute("aria-expanded") || "false");
    var name = nameOf(button);
    if (name) set(target, "aria-label", name);
  }
  function fixUpload(input) {
    if (input.hasAttribute("aria-label")) return;
    for (var el = input.parentElement; el; el = el.parentElement) {
      var label = el.id && document.querySelector('label[for="' + el.id + '"]');
      if (label) {
        set(input, "aria-label", label.textContent.trim());
        return;
      }
    }
  }
  function sweep() {
    document.querySelectorAll(".dash-dropdown-focus-target").forEach(fix);
    document.querySelectorAll('input[type="file"]').forEach(fixUpload);
  }
  new MutationObserver(sweep).observe(document.documentElement, {
    subtree: true,
    childList: true,
    attributes: true,
    attributeFilter: ["aria-expanded", "class"],
  });
  document.addEventListener("DOMContentLoaded", sweep);
})();
