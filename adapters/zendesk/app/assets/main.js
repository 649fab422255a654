/*
 * License Exception Connector — Zendesk ticket sidebar app (ZAF v2).
 *
 * On a ticket the connector governs, shows where the exception stands; on a ticket not yet flagged (and on a new
 * ticket), offers a form that fills the custom fields and adds the tag, so intake flows through the normal ticket
 * update and webhook. Status comes from the connector through ZAF secure requests: the token stays in Zendesk's
 * secure settings and is substituted by Zendesk's proxy, never seen by the agent's browser.
 *
 * Everything is rendered with textContent / DOM nodes, never innerHTML, so nothing the connector or a ticket says
 * can run as markup.
 */
(function () {
  'use strict';

  var STATES = {
    needs_info: { label: 'Needs information', theme: 'warning' },
    in_review: { label: 'In review', theme: 'info' },
    approved: { label: 'Approved', theme: 'success' },
    denied: { label: 'Denied', theme: 'error' },
    withdrawn: { label: 'Withdrawn', theme: '' },
    expired: { label: 'Expired', theme: '' },
    revoked: { label: 'Revoked', theme: 'error' }
  };
  var RISK_THEMES = { low: 'success', medium: 'warning', high: 'error', critical: 'error' };
  var EXPIRY_WARNING_DAYS = 30;

  function humanize(value) {
    if (!value) { return ''; }
    var text = String(value).replace(/_/g, ' ').trim();
    return text.charAt(0).toUpperCase() + text.slice(1);
  }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      if (name === 'text') { node.textContent = attrs[name]; } else { node.setAttribute(name, attrs[name]); }
    });
    (children || []).forEach(function (child) { if (child) { node.appendChild(child); } });
    return node;
  }

  function badge(text, theme, id) {
    return el('span', { 'class': 'badge ' + (theme || ''), 'data-id': id, text: text });
  }

  function fieldPath(field) {
    return 'ticket.customField:custom_field_' + field.field_id;
  }

  /** An input for a ticket field of Zendesk's type, holding `current`. */
  function inputFor(field, current) {
    var id = 'f-' + field.field_id;
    var input;
    if (field.type === 'tagger' || field.type === 'multiselect') {
      input = el('select', { id: id });
      if (field.type === 'multiselect') { input.multiple = true; } else { input.appendChild(el('option', { value: '', text: '—' })); }
      (field.options || []).forEach(function (option) {
        var node = el('option', { value: option.value, text: option.name });
        var chosen = Array.isArray(current) ? current.indexOf(option.value) >= 0 : current === option.value;
        if (chosen) { node.selected = true; }
        input.appendChild(node);
      });
    } else if (field.type === 'textarea') {
      input = el('textarea', { id: id, rows: '3' });
      input.value = current || '';
    } else {
      var type = { integer: 'number', decimal: 'number', date: 'date' }[field.type] || 'text';
      input = el('input', { id: id, type: type });
      if (field.type === 'decimal') { input.step = 'any'; }
      input.value = current == null ? '' : current;
    }
    return input;
  }

  function valueOf(field, input) {
    if (field.type === 'multiselect') {
      return Array.prototype.filter.call(input.options, function (o) { return o.selected; })
        .map(function (o) { return o.value; });
    }
    if (field.type === 'integer') { return input.value === '' ? null : parseInt(input.value, 10); }
    if (field.type === 'decimal') { return input.value === '' ? null : String(input.value); }
    return input.value === '' ? null : input.value;
  }

  function App(client, root) {
    this.client = client;
    this.root = root;
  }

  App.prototype.start = function () {
    var self = this;
    return Promise.all([this.client.metadata(), this.client.context()]).then(function (found) {
      self.settings = found[0].settings || {};
      self.location = found[1].location;
      if (self.location === 'new_ticket_sidebar') { return self.showForm(); }
      return self.client.get('ticket.id').then(function (data) { return self.showStatus(data['ticket.id']); });
    }).catch(function (error) { self.showError(error); });
  };

  App.prototype.api = function (path) {
    var base = String(this.settings.connector_url || '').replace(/\/+$/, '');
    var connection = encodeURIComponent(this.settings.connection || '');
    return this.client.request({
      url: base + '/api/v1/sources/zendesk/' + connection + path,
      type: 'GET',
      dataType: 'json',
      secure: true,
      headers: { Authorization: 'Bearer {{setting.token}}' },
      cors: false
    });
  };

  App.prototype.showStatus = function (ticketId) {
    var self = this;
    return this.api('/tickets/' + encodeURIComponent(ticketId) + '/status').then(function (status) {
      if (!status.flagged) { return self.renderForm(status.form, status.tag); }
      self.renderStatus(status);
      return null;
    });
  };

  App.prototype.showForm = function () {
    var self = this;
    return this.api('/flag-form').then(function (form) { self.renderForm(form.form, form.tag); });
  };

  App.prototype.replace = function (children) {
    while (this.root.firstChild) { this.root.removeChild(this.root.firstChild); }
    children.forEach(function (child) { if (child) { this.root.appendChild(child); } }, this);
    this.client.invoke('resize', { width: '100%', height: Math.max(120, this.root.scrollHeight + 24) + 'px' });
  };

  App.prototype.renderStatus = function (status) {
    var state = STATES[status.state] || { label: humanize(status.state), theme: '' };
    var badges = el('div', { 'class': 'badges' }, [
      badge(state.label, state.theme, 'state'),
      status.track ? badge(humanize(status.track) + ' track', '', 'track') : null,
      status.risk_band ? badge(humanize(status.risk_band) + ' risk', RISK_THEMES[status.risk_band], 'risk') : null,
      this.expiryBadge(status)
    ]);
    this.replace([
      el('p', { 'class': 'muted', 'data-id': 'key', text: status.key }),
      badges,
      status.state === 'needs_info' ? this.missingBox(status.missing || {}) : null,
      this.votesWaiting(status),
      this.decision(status),
      this.boundaries(status),
      status.url ? el('p', {}, [el('a', { href: status.url, target: '_blank', rel: 'noopener', 'data-id': 'link',
        text: 'Open ' + status.key + ' in the connector' })]) : null
    ]);
  };

  App.prototype.expiryBadge = function (status) {
    var days = status.expires_in_days;
    if (days == null || (status.state !== 'approved' && status.state !== 'expired')) { return null; }
    if (days < 0 || status.state === 'expired') { return badge('Expired ' + status.expires_at, '', 'expiry'); }
    var label = days === 0 ? 'Expires today' : 'Expires in ' + days + ' day' + (days === 1 ? '' : 's');
    return badge(label, days <= EXPIRY_WARNING_DAYS ? 'warning' : 'success', 'expiry');
  };

  App.prototype.missingBox = function (missing) {
    var self = this;
    var box = el('div', { 'class': 'box warning', 'data-id': 'missing' }, [
      el('strong', { text: 'Before review, fill in:' }),
      missing.summary ? el('p', { text: missing.summary }) : null
    ]);
    (missing.fields || []).forEach(function (field) {
      var holder = el('div', { 'data-field': String(field.field_id) });
      var open = el('button', { type: 'button', 'data-id': 'fill-' + field.field_id, text: 'Fill ' + field.label });
      open.addEventListener('click', function () { self.openField(holder, open, field); });
      holder.appendChild(open);
      box.appendChild(holder);
    });
    return box;
  };

  /** The field to fill, in the sidebar: its current ticket value, written back into the ticket on "Set". */
  App.prototype.openField = function (holder, button, field) {
    var self = this;
    return this.client.get(fieldPath(field)).then(function (data) {
      var input = inputFor(field, data[fieldPath(field)]);
      var set = el('button', { type: 'button', 'class': 'primary', text: 'Set ' + field.label });
      set.addEventListener('click', function () {
        self.client.set(fieldPath(field), valueOf(field, input)).then(function () {
          set.textContent = 'Set — save the ticket to send it';
        });
      });
      holder.replaceChild(el('div', {}, [el('label', { 'for': input.id, text: field.label }), input, set]), button);
      input.focus();
      self.client.invoke('resize', { width: '100%', height: Math.max(120, self.root.scrollHeight + 24) + 'px' });
    });
  };

  App.prototype.votesWaiting = function (status) {
    if (status.state !== 'in_review') { return null; }
    var roles = status.votes_waiting || [];
    if (!roles.length) { return el('p', { 'data-id': 'awaiting-chair', text: "Waiting for the committee chair's decision." }); }
    return el('div', {}, [
      el('h2', { text: 'Waiting for the votes of' }),
      el('ul', { 'data-id': 'votes-waiting' }, roles.map(function (role) { return el('li', { text: humanize(role) }); }))
    ]);
  };

  App.prototype.decision = function (status) {
    var decision = status.decision;
    if (!decision || !decision.outcome) { return null; }
    var items = [el('dt', { text: 'Decision' }), el('dd', { text: humanize(decision.outcome) })];
    if (decision.rationale) { items.push(el('dt', { text: 'Why' }), el('dd', { 'data-id': 'rationale', text: decision.rationale })); }
    if (status.effective_from) { items.push(el('dt', { text: 'Effective' }), el('dd', { text: status.effective_from })); }
    if (status.expires_at) { items.push(el('dt', { text: 'Expires' }), el('dd', { text: status.expires_at })); }
    return el('dl', { 'data-id': 'decision' }, items);
  };

  App.prototype.boundaries = function (status) {
    if (status.state !== 'approved' || !(status.boundaries || []).length) { return null; }
    return el('div', {}, [
      el('h2', { text: 'Granted, and nothing beyond' }),
      el('ul', { 'data-id': 'boundaries' }, status.boundaries.map(function (line) { return el('li', { text: line }); }))
    ]);
  };

  App.prototype.renderForm = function (fields, tag) {
    var self = this;
    var inputs = [];
    var form = el('form', { 'data-id': 'flag-form' }, [el('h2', { text: 'Flag as license exception' }),
      el('p', { 'class': 'muted', text: 'Fills the ticket fields and adds the tag; saving the ticket sends it to the connector.' })]);
    var reads = (fields || []).map(function (field) { return self.client.get(fieldPath(field)); });
    return Promise.all(reads).then(function (values) {
      (fields || []).forEach(function (field, index) {
        var input = inputFor(field, values[index][fieldPath(field)]);
        inputs.push([field, input]);
        form.appendChild(el('label', { 'for': input.id, text: field.label }));
        form.appendChild(input);
      });
      var submit = el('button', { type: 'submit', 'class': 'primary', 'data-id': 'flag', text: 'Flag as license exception' });
      form.appendChild(submit);
      form.addEventListener('submit', function (event) {
        event.preventDefault();
        var writes = inputs.map(function (pair) { return self.client.set(fieldPath(pair[0]), valueOf(pair[0], pair[1])); });
        Promise.all(writes).then(function () { return self.client.invoke('ticket.tags.add', tag); }).then(function () {
          self.replace([el('p', { 'data-id': 'flagged', text: 'Flagged. Save the ticket to send it to the connector for review.' })]);
        });
      });
      self.replace([form]);
    });
  };

  App.prototype.showError = function (error) {
    var status = error && error.status;
    var message = status === 401 || status === 403
      ? 'The connector refused the app\'s token: ask an admin to provision the Zendesk connection again.'
      : status === 404 ? 'The connector does not know this connection: check the app\'s settings.'
        : 'The connector could not be reached' + (status ? ' (HTTP ' + status + ')' : '') + '. Try again in a minute.';
    this.replace([el('p', { 'class': 'error-text', 'data-id': 'error', text: message })]);
  };

  window.LicenseExceptionApp = App;
  if (window.ZAFClient) {
    var client = window.ZAFClient.init();
    client.on('app.registered', function () { new App(client, document.getElementById('app')).start(); });
  }
}());
