// Loaded in <head>, before the page is drawn: styles under .js apply only when scripts run,
// so the page never flashes its no-script layout first.
document.documentElement.classList.add("js");
