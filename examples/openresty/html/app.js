// The example page: @tanstack/ai-client's ChatClient over fetchServerSentEvents('/api/chat'), rendered by hand.
(function () {
  'use strict';
  var list = document.getElementById('messages');
  var statusEl = document.getElementById('status');
  var form = document.getElementById('chat-form');
  var input = document.getElementById('prompt');
  var sendBtn = document.getElementById('send');
  var stopBtn = document.getElementById('stop');

  if (!window.TanStackAIClient) {
    statusEl.textContent = 'The @tanstack/ai-client bundle is missing: run `make openresty-setup`.';
    sendBtn.disabled = true;
    return;
  }
  var lib = window.TanStackAIClient;

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function render(messages) {
    list.textContent = '';
    messages.forEach(function (m) {
      var box = el('div', 'msg ' + m.role);
      box.dataset.role = m.role;
      m.parts.forEach(function (p) {
        if (p.type === 'text') box.appendChild(el('span', 'text', p.content));
        else if (p.type === 'tool-call') {
          box.appendChild(el('div', 'tool', '\u2699 ' + p.name + '(' + (p.arguments || '') + ')' +
            (p.output !== undefined ? ' \u2192 ' + JSON.stringify(p.output) : '')));
        }
      });
      list.appendChild(box);
    });
  }

  var client = new lib.ChatClient({
    connection: lib.fetchServerSentEvents('/api/chat'),
    onMessagesChange: render,
    onLoadingChange: function (loading) {
      sendBtn.disabled = loading;
      stopBtn.disabled = !loading;
      document.body.dataset.loading = loading ? 'true' : 'false';
    },
    onError: function (err) { statusEl.textContent = 'Error: ' + err.message; }
  });

  form.addEventListener('submit', function (e) {
    e.preventDefault();
    var text = input.value.trim();
    if (!text) return;
    input.value = '';
    statusEl.textContent = '';
    client.sendMessage(text);
  });
  stopBtn.addEventListener('click', function () { client.stop(); });
})();
