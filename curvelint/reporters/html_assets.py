"""The HTML report's inline style sheet and script (no external resource: the page is one file).

The script only adds to a page that reads fine without it: hover read-outs on the charts
(step and value), filters by severity, rule and run, and sortable tables.
"""

from __future__ import annotations

import base64
import hashlib

from curvelint.plot.svg import LEFT, PH, PW, Q, TOP

CSS = """
:root{--err:#c62828;--warn:#b26a00;--info:#1565c0;--bg:#fff;--fg:#1b1b1b;--mute:#666;--line:#ddd}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:var(--fg);
background:var(--bg);margin:0 auto;max-width:1180px;padding:16px 20px 60px}
h1{font-size:22px;margin:4px 0}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid var(--line)}
h3{font-size:15px;margin:0}code,pre{font:12.5px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
a{color:#0b57d0;text-decoration:none}a:hover{text-decoration:underline}
.muted{color:var(--mute)}.counts b{margin-right:2px}
.sev{display:inline-block;min-width:58px;padding:0 6px;border-radius:3px;color:#fff;font-size:12px;text-align:center}
.sev.error{background:var(--err)}.sev.warning{background:var(--warn)}.sev.info{background:var(--info)}
table{border-collapse:collapse;width:100%}th,td{text-align:left;vertical-align:top;padding:3px 8px;
border-bottom:1px solid var(--line)}th{background:#f6f6f6;position:sticky;top:0;white-space:nowrap}
.js th[data-sort]{cursor:pointer}.js th[data-sort]:after{content:" \\2195";color:#aaa}
td.num,th.num{text-align:right}td.msg,td.path{overflow-wrap:anywhere}td.rule{white-space:nowrap}
#findings td.path{min-width:180px;max-width:320px}
.filters{display:none;gap:14px;align-items:center;margin:8px 0;flex-wrap:wrap}.js .filters{display:flex}
.run{border:1px solid var(--line);border-radius:6px;margin:14px 0;padding:0}
.run>summary{padding:8px 12px;cursor:pointer;background:#fafafa;border-radius:6px}
.run .body{padding:4px 12px 12px}
.finding{border-left:4px solid var(--line);padding:6px 10px;margin:10px 0;background:#fcfcfc}
.finding.error{border-color:var(--err)}.finding.warning{border-color:var(--warn)}.finding.info{border-color:var(--info)}
.finding p{margin:4px 0}.fix{color:#2e5e2e}
dl.ev{display:grid;grid-template-columns:repeat(auto-fill,minmax(250px,1fr));gap:0 18px;margin:2px 0;font-size:12.5px}
dl.ev div{display:flex;gap:8px;min-width:0}dl.ev dt{color:var(--mute);flex:0 0 auto}
dl.ev dd{margin:0;font-family:ui-monospace,monospace;overflow-wrap:anywhere;min-width:0}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(480px,1fr));gap:8px 16px;margin-top:8px}
figure{margin:0}figcaption{font-size:12.5px}.sw{display:inline-block;width:14px;height:3px;vertical-align:middle;
margin:0 4px 0 10px}
svg.chart{width:100%;height:auto;display:block;overflow:visible}
svg .plot{fill:#fff;stroke:#ccc}svg .grid{stroke:#eee}svg .ln{fill:none;stroke-width:1.4;
stroke-linejoin:round;vector-effect:non-scaling-stroke}
svg text{font:10px system-ui,sans-serif;fill:#555}svg .yl{text-anchor:end;dominant-baseline:middle}
svg .xl{text-anchor:middle}svg .log{text-anchor:end;fill:#999}
svg .win{fill-opacity:.13;stroke-opacity:.5;stroke-dasharray:3 2}svg .win.error{fill:var(--err);stroke:var(--err)}
svg .win.warning{fill:var(--warn);stroke:var(--warn)}svg .win.info{fill:var(--info);stroke:var(--info)}
svg .wl{font-weight:600;fill:#333}svg .nf{stroke:var(--err);stroke-width:1.6}
svg .key{fill:#fff;stroke:#000;stroke-width:1.5}svg .hover{fill:none;stroke:#000;stroke-width:1.2}
#tip{position:absolute;display:none;pointer-events:none;background:#222;color:#fff;padding:3px 7px;
border-radius:4px;font-size:12px;white-space:nowrap;z-index:9}
pre.doc{white-space:pre-wrap;background:#f7f7f7;padding:10px;border-radius:4px;margin:6px 0 0}
.hidden{display:none!important}
"""

_JS = """
(function(){
document.documentElement.classList.add('js');
var L=@LEFT@,T=@TOP@,PW=@PW@,PH=@PH@,Q=@Q@;
function num(v){if(!isFinite(v))return String(v);var a=Math.abs(v);
 return (a!==0&&(a<1e-3||a>=1e5))?v.toExponential(3):String(+v.toPrecision(4));}
var tip=document.getElementById('tip');
function series(svg){if(svg._s)return svg._s;var out=[];
 svg.querySelectorAll('path.ln,circle.pt').forEach(function(el){var xs=[],ys=[];
  if(el.tagName==='circle'){xs=[+el.getAttribute('cx')];ys=[+el.getAttribute('cy')];}
  else{var n=el.getAttribute('d').match(/-?\\d+/g).map(Number),x=0,y=0;
   for(var i=0;i<n.length;i+=2){x+=n[i];y+=n[i+1];xs.push(L+x/Q);ys.push(T+y/Q);}}
  var s=el.getAttribute('data-s'),v=el.getAttribute('data-v');
  out.push({name:el.getAttribute('data-name'),xs:xs,ys:ys,s:s?s.split(' ').map(Number):null,
   v:v?v.split(' ').map(Number):null,color:el.getAttribute('stroke')||el.getAttribute('fill')});});
 return svg._s=out;}
function nearest(xs,x){var lo=0,hi=xs.length-1;while(hi-lo>1){var m=(lo+hi)>>1;if(xs[m]<x)lo=m;else hi=m;}
 return Math.abs(xs[lo]-x)<=Math.abs(xs[hi]-x)?lo:hi;}
function invert(svg,px,py){var d=svg.dataset,x0=+d.x0,x1=+d.x1,y0=+d.y0,y1=+d.y1,f=1-(py-T)/PH,v;
 if(d.log==='1'){v=Math.pow(10,Math.log10(y0)+f*(Math.log10(y1)-Math.log10(y0)));}else{v=y0+f*(y1-y0);}
 return [x0+(px-L)/PW*(x1-x0),v];}
document.querySelectorAll('svg.chart').forEach(function(svg){
 var ring=svg.querySelector('circle.hover');
 svg.addEventListener('mousemove',function(e){var m=svg.getScreenCTM();if(!m)return;
  var p=svg.createSVGPoint();p.x=e.clientX;p.y=e.clientY;p=p.matrixTransform(m.inverse());
  var best=null;series(svg).forEach(function(s){if(!s.xs.length)return;var i=nearest(s.xs,p.x);
   var d=Math.abs(s.xs[i]-p.x)*4+Math.abs(s.ys[i]-p.y);if(!best||d<best.d)best={d:d,s:s,i:i};});
  if(!best||Math.abs(best.s.xs[best.i]-p.x)>20){tip.style.display='none';ring.setAttribute('visibility','hidden');return;}
  var s=best.s,i=best.i,step,val,approx='';
  if(s.s){step=s.s[i];val=s.v[i];}else{var iv=invert(svg,s.xs[i],s.ys[i]);step=Math.round(iv[0]);val=iv[1];approx='\\u2248 ';}
  ring.setAttribute('cx',s.xs[i]);ring.setAttribute('cy',s.ys[i]);ring.setAttribute('visibility','visible');
  tip.textContent=s.name+'  step '+approx+step+'  value '+approx+num(val);
  tip.style.left=(e.pageX+14)+'px';tip.style.top=(e.pageY+12)+'px';tip.style.display='block';});
 svg.addEventListener('mouseleave',function(){tip.style.display='none';ring.setAttribute('visibility','hidden');});});
function applyFilters(){var sev={};document.querySelectorAll('#flt-sev input').forEach(function(c){sev[c.value]=c.checked;});
 var rule=document.getElementById('flt-rule').value,run=document.getElementById('flt-run').value.toLowerCase(),shown=0;
 document.querySelectorAll('[data-sev]').forEach(function(el){
  var ok=sev[el.dataset.sev]&&(!rule||el.dataset.rule===rule)&&(!run||el.dataset.run.toLowerCase().indexOf(run)>=0);
  el.classList.toggle('hidden',!ok);if(ok&&el.tagName==='TR')shown++;});
 document.getElementById('flt-count').textContent=shown+' shown';}
document.querySelectorAll('#flt-sev input,#flt-rule,#flt-run').forEach(function(el){
 el.addEventListener('input',applyFilters);el.addEventListener('change',applyFilters);});
document.querySelectorAll('th[data-sort]').forEach(function(th){th.addEventListener('click',function(){
 var table=th.closest('table'),body=table.tBodies[0],col=th.cellIndex,num=th.dataset.sort==='num',
  dir=th.dataset.dir==='asc'?-1:1;th.dataset.dir=dir>0?'asc':'desc';
 var rows=Array.prototype.slice.call(body.rows);rows.sort(function(a,b){
  var x=a.cells[col].dataset.key||a.cells[col].textContent,y=b.cells[col].dataset.key||b.cells[col].textContent;
  if(num){x=parseFloat(x);y=parseFloat(y);x=isNaN(x)?-Infinity:x;y=isNaN(y)?-Infinity:y;return (x-y)*dir;}
  return x.localeCompare(y)*dir;});rows.forEach(function(r){body.appendChild(r);});});});
})();
"""

JS = (_JS.replace("@LEFT@", str(LEFT)).replace("@TOP@", str(TOP))
      .replace("@PW@", str(PW)).replace("@PH@", str(PH)).replace("@Q@", str(Q)))


def csp_hash(text: str) -> str:
    """The Content-Security-Policy source that allows exactly this inline script or style."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


# nothing may be fetched: no script, style, font, image, frame or connection beyond these two
CSP = (f"default-src 'none'; script-src {csp_hash(JS)}; style-src {csp_hash(CSS)}; img-src data:; "
       "base-uri 'none'; form-action 'none'")
