(function(){
  var hover = JSON.parse(document.getElementById('hover-data').textContent);
  var config = JSON.parse(document.getElementById('plotly-config').textContent);
  document.querySelectorAll('script.figure-data').forEach(function(node){
    var fig = JSON.parse(node.textContent);
    fig.data.forEach(function(trace){
      if (trace.meta && trace.meta.hover_rows){
        trace.hovertext = trace.meta.hover_rows.map(function(i){ return hover[i]; });
        delete trace.meta;
      }
    });
    Plotly.newPlot(document.getElementById(node.dataset.target), fig.data, fig.layout, config);
  });
  // parallel coordinates: every axis one may choose is embedded; the ticked ones are drawn
  document.querySelectorAll('script.axes-data').forEach(function(node){
    var choices = JSON.parse(node.textContent);
    var div = document.getElementById(node.dataset.target);
    var fieldset = document.querySelector('fieldset[data-target="' + node.dataset.target + '"]');
    var boxes = fieldset.querySelectorAll('input[type=checkbox]');
    var counter = fieldset.parentNode.querySelector('.axes-count');
    function redraw(){
      var dims = [];
      boxes.forEach(function(box){ if (box.checked) dims.push(choices.dimensions[Number(box.value)]); });
      counter.textContent = dims.length + ' of ' + boxes.length;
      var many = dims.length > choices.max_axes;
      var trace = Object.assign({}, div.data[0], {dimensions: dims, labelangle: many ? choices.tilted : 0});
      var margin = Object.assign({}, div.layout.margin, {t: choices.top_margins[many ? 1 : 0]});
      Plotly.react(div, [trace], Object.assign({}, div.layout, {margin: margin}), config);
    }
    boxes.forEach(function(box){ box.addEventListener('change', redraw); });
  });
  var dataNode = document.getElementById('trials-data');
  if (!dataNode) return;
  var data = JSON.parse(dataNode.textContent);
  var table = document.getElementById("trials-table"), tbody = table.tBodies[0];
  var filter = document.getElementById('trials-filter');
  var status = document.getElementById('trials-status');
  var count = document.getElementById('trials-count');
  var statusCol = data.columns.indexOf('status');
  var reasonCol = data.columns.indexOf('reason');
  // a reason longer than reasonLong (a traceback's) shows its start and opens on click; shorter
  // ones wrap in their cell
  var reasonLong = 160, reasonStart = 80;
  var text = data.rows.map(function(r){
    return r.map(function(v){ return v === null ? '' : String(v); }).join(' \u0001 ').toLowerCase();
  });
  var order = data.rows.map(function(_, i){ return i; });
  var sortCol = -1, sortDir = 1;
  var headRow = document.createElement('tr');
  data.columns.forEach(function(name, c){
    var th = document.createElement('th');
    th.textContent = name; th.scope = 'col';
    th.addEventListener('click', function(){ sortBy(c); });
    headRow.appendChild(th);
  });
  table.tHead.appendChild(headRow);
  function compare(a, b){
    var x = data.rows[a][sortCol], y = data.rows[b][sortCol];
    if (x === null && y === null) return a - b;
    if (x === null) return 1;
    if (y === null) return -1;
    var d = data.numeric[sortCol] ? x - y : String(x).localeCompare(String(y), undefined, {numeric: true});
    return d !== 0 ? sortDir * d : a - b;
  }
  function sortBy(c){
    sortDir = (sortCol === c) ? -sortDir : 1;
    sortCol = c;
    first = 0;
    order.sort(compare);
    Array.prototype.forEach.call(headRow.children, function(th, i){
      if (i === c) th.setAttribute('aria-sort', sortDir > 0 ? 'ascending' : 'descending');
      else th.removeAttribute('aria-sort');
    });
    render();
  }
  var pageSize = 200, first = 0;
  var prev = document.getElementById('trials-prev'), next = document.getElementById('trials-next');
  function render(){
    var q = filter.value.trim().toLowerCase(), st = status.value;
    var matching = order.filter(function(i){
      return (!st || data.rows[i][statusCol] === st) && (!q || text[i].indexOf(q) >= 0);
    });
    if (first >= matching.length) first = Math.max(0, matching.length - pageSize);
    var frag = document.createDocumentFragment();
    matching.slice(first, first + pageSize).forEach(function(i){
      var row = data.rows[i];
      var tr = document.createElement('tr');
      tr.className = 'status-' + String(row[statusCol]);
      row.forEach(function(v, c){
        var td = document.createElement('td');
        var value = v === null ? '' : String(v);
        if (c === reasonCol) {
          td.className = 'reason';
          if (value.length > reasonLong) {
            var details = document.createElement('details');
            var summary = document.createElement('summary');
            var short = document.createElement('span');
            short.className = 'short';
            short.textContent = value.slice(0, reasonStart).trimEnd() + '…';
            summary.appendChild(short);
            var full = document.createElement('div');
            full.textContent = value;
            details.append(summary, full);
            td.appendChild(details);
          } else td.textContent = value;
        } else td.textContent = value;
        if (data.numeric[c]) td.className = 'num';
        tr.appendChild(td);
      });
      frag.appendChild(tr);
    });
    tbody.replaceChildren(frag);
    var last = Math.min(first + pageSize, matching.length);
    count.textContent = (matching.length ? (first + 1) + '–' + last + ' of ' : '0 of ') +
      matching.length + ' matching rows (' + data.rows.length + ' in all)';
    prev.disabled = first === 0;
    next.disabled = last >= matching.length;
  }
  prev.addEventListener('click', function(){ first = Math.max(0, first - pageSize); render(); });
  next.addEventListener('click', function(){ first += pageSize; render(); });
  filter.addEventListener('input', function(){ first = 0; render(); });
  status.addEventListener('change', function(){ first = 0; render(); });
  render();
})();
