// Copy button of the webhook URL on the messaging service page: it says "Copied" for a while.
document.addEventListener("click", function (event) {
  const button = event.target.closest("button[data-copy]");
  if (!button) return;
  const input = document.getElementById(button.dataset.copy);
  if (!button.dataset.label) button.dataset.label = button.textContent;
  const shown = function () {
    button.textContent = button.dataset.copied;
    button.classList.add("copied");
    clearTimeout(button.copiedTimer);
    button.copiedTimer = setTimeout(function () {
      button.textContent = button.dataset.label;
      button.classList.remove("copied");
    }, 3000);
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
