function show(kind) {
  var rows = document.querySelectorAll('tr.q');
  var shown = 0;
  rows.forEach(function (r) {
    var on = kind === 'all' || r.classList.contains(kind);
    r.style.display = on ? '' : 'none';
    if (on) shown++;
  });
  document.querySelectorAll('.filters button').forEach(function (b) {
    b.classList.toggle('on', b.getAttribute('data-kind') === kind);
  });
  document.getElementById('shown').textContent = shown + ' of ' + rows.length + ' questions shown';
}
window.addEventListener('load', function () { show(location.hash ? location.hash.slice(1) : 'all'); });
