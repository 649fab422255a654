// A stand-in for Zendesk's ZAF SDK in the browser tests: ZAFClient.init() returns a client that answers from
// window.__ZAF (location, settings, ticket fields, connector responses) and records every call in window.__zafCalls.
(function () {
  var calls = window.__zafCalls = [];
  var zaf = window.__ZAF;
  var handlers = {};
  var client = {
    on: function (name, handler) { handlers[name] = handler; if (name === 'app.registered') { setTimeout(handler, 0); } },
    metadata: function () { calls.push(['metadata']); return Promise.resolve({ settings: zaf.settings }); },
    context: function () { calls.push(['context']); return Promise.resolve({ location: zaf.location }); },
    get: function (path) {
      calls.push(['get', path]);
      var out = {}; out[path] = zaf.ticket[path]; return Promise.resolve(out);
    },
    set: function (path, value) { calls.push(['set', path, value]); zaf.ticket[path] = value; return Promise.resolve({}); },
    invoke: function (name, arg) { calls.push(['invoke', name, arg]); return Promise.resolve({}); },
    request: function (options) {
      calls.push(['request', options]);
      var answer = zaf.responses[options.url];
      if (!answer) { return Promise.reject({ status: 404, responseText: 'not stubbed: ' + options.url }); }
      return answer.status >= 400 ? Promise.reject({ status: answer.status }) : Promise.resolve(answer.body);
    }
  };
  window.ZAFClient = { init: function () { return client; } };
}());
