// The live page's list: start watching an input, open its page.
"use strict";

(function () {
  const vs = window.vidscene;
  const form = document.getElementById("stream-form");
  const message = document.getElementById("stream-message");

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    message.hidden = true;
    const source = document.getElementById("stream-source").value.trim();
    const segment = Number(document.getElementById("stream-segment").value) || 3600;
    try {
      const stream = await vs.api("/v1/streams", { json: { source, segment_seconds: segment } });
      window.location.assign(`/streams/${stream.id}`);
    } catch (err) {
      message.textContent = err.message;
      message.hidden = false;
    }
  });
})();
