// Copy button of the webhook URL on the messaging service page.
document.addEventListener("click", function (event) {
  const button = event.target.closest("button[data-copy]");
  if (!button) return;
  const input = document.getElementById(button.dataset.copy);
  const done = button.parentElement.querySelector(".webhook-url-copied");
  const shown = function () {
    if (done) { done.hidden = false; setTimeout(function () { done.hidden = true; }, 2000); }
  };
  input.select();
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(input.value).then(shown, function () {
      document.execCommand("copy"); shown();
    });
  } else {
    document.execCommand("copy");
    shown();
  }
});

// Triggers belong to the inbound (webhook) entry: hide them on outbound rows.
function markAuthenticationRows() {
  document.querySelectorAll("select[name$='-direction']").forEach(function (select) {
    const row = select.closest("tr");
    if (row) row.classList.toggle("outbound-entry", select.value === "outbound");
  });
}
document.addEventListener("change", function (event) {
  if (event.target.matches("select[name$='-direction']")) markAuthenticationRows();
});
document.addEventListener("formset:added", markAuthenticationRows);
document.addEventListener("DOMContentLoaded", markAuthenticationRows);
