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
