-- silly.metrics (docs/metrics.md): counters, gauges and histograms with labels, registries,
-- and the exact text exposition of a small registry: escaping, number formats, cumulative
-- buckets, stable order; the errors a bad name, label or value raises.
local T = require "testaux"
local counter = require "silly.metrics.counter"
local gauge = require "silly.metrics.gauge"
local histogram = require "silly.metrics.histogram"
local registry = require "silly.metrics.registry"
local prometheus = require "silly.metrics.prometheus"

T.limit(10000)

-- A small registry, printed exactly.
local r = registry.new()
local requests = counter("app_requests_total", "Requests served.", {"method", "code"})
local temp = gauge("app_temperature_celsius", 'Temperature\\in "C"\nsecond line')
local latency = histogram("app_latency_seconds", "Request latency.", nil, {1, 0.1, 0.5})
local sizes = histogram("app_size_bytes", "Response sizes.", {"route"}, {100, 1000})
local unused = counter("app_unused_total", "Never used.", {"x"})
r:register(requests)
r:register(temp)
r:register(latency)
r:register(sizes)
r:register(unused)
r:register(requests) -- again: ignored

requests:labels("GET", 200):inc()
requests:labels("POST", "500"):add(2)
requests:labels("GET", "200"):inc(3) -- the same child as ("GET", 200)
requests:labels('a"b\\c\nd', "x"):inc()
temp:set(-3.25)
for _, v in ipairs {0.05, 0.1, 0.3, 0.7, 2, 0.1} do
	latency:observe(v)
end
sizes:labels("/b"):observe(5000)
sizes:labels("/a"):observe(50)
sizes:labels("/a"):observe(500)

local want = table.concat({
	"# HELP app_requests_total Requests served.",
	"# TYPE app_requests_total counter",
	'app_requests_total{method="GET",code="200"} 4',
	'app_requests_total{method="POST",code="500"} 2',
	'app_requests_total{method="a\\"b\\\\c\\nd",code="x"} 1',
	'# HELP app_temperature_celsius Temperature\\\\in "C"\\nsecond line',
	"# TYPE app_temperature_celsius gauge",
	"app_temperature_celsius -3.25",
	"# HELP app_latency_seconds Request latency.",
	"# TYPE app_latency_seconds histogram",
	'app_latency_seconds_bucket{le="0.1"} 3',
	'app_latency_seconds_bucket{le="0.5"} 4',
	'app_latency_seconds_bucket{le="1"} 5',
	'app_latency_seconds_bucket{le="+Inf"} 6',
	"app_latency_seconds_sum 3.25",
	"app_latency_seconds_count 6",
	"# HELP app_size_bytes Response sizes.",
	"# TYPE app_size_bytes histogram",
	'app_size_bytes_bucket{route="/b",le="100"} 0',
	'app_size_bytes_bucket{route="/b",le="1000"} 0',
	'app_size_bytes_bucket{route="/b",le="+Inf"} 1',
	'app_size_bytes_sum{route="/b"} 5000',
	'app_size_bytes_count{route="/b"} 1',
	'app_size_bytes_bucket{route="/a",le="100"} 1',
	'app_size_bytes_bucket{route="/a",le="1000"} 2',
	'app_size_bytes_bucket{route="/a",le="+Inf"} 2',
	'app_size_bytes_sum{route="/a"} 550',
	'app_size_bytes_count{route="/a"} 2',
	"",
}, "\n")
local got = prometheus.gather(r)
T.eq(got, want, "exact exposition of a small registry")
if got ~= want then
	print(got)
end
T.eq(prometheus.gather(r), got, "a second gather gives the same text")

-- Reference-style API: fields and methods of the reference framework.
T.eq(requests.kind, "counter", "kind")
T.eq(requests:labels("GET", 200).value, 4, "child value")
T.eq(latency.count, 6, "histogram count")
T.eq(latency.buckets[1], 0.1, "buckets are sorted")
T.eq(#latency.bucketcounts, 3, "one count per bucket")

-- Gauges: every method.
local g = gauge("g", "g")
g:set(10)
g:inc()
g:inc(4)
g:dec()
g:dec(2)
g:add(0.5)
g:sub(1.5)
T.eq(g.value, 11.0, "gauge set/inc/dec/add/sub")

-- Number formats: integers, shortest floats, infinities, NaN, bucket bounds.
local nr = registry.new()
local function one(v)
	local x = gauge("x", "x")
	x:set(v)
	local reg = registry.new()
	reg:register(x)
	return prometheus.gather(reg):match("\nx (%S+)\n$")
end
T.eq(one(7), "7", "integer")
T.eq(one(7.0), "7", "integral float")
T.eq(one(0.1), "0.1", "shortest float")
T.eq(one(1 / 3), "0.33333333333333331", "float that needs 17 digits")
T.eq(one(1e300), "1e+300", "large float")
T.eq(one(0.1 + 0.2), "0.30000000000000004", "float sum")
T.eq(one(math.huge), "+Inf", "+Inf")
T.eq(one(-math.huge), "-Inf", "-Inf")
T.eq(one(0 / 0), "NaN", "NaN")
T.eq(one(math.mininteger), tostring(math.mininteger), "min integer")
local hb = histogram("hb", "hb", nil, {math.huge, 2.5, 1})
T.eq(#hb.buckets, 2, "+Inf bucket is implied, not kept")
nr:register(hb)
T.match(prometheus.gather(nr), 'hb_bucket{le="1"} 0\nhb_bucket{le="2.5"} 0\nhb_bucket{le="%+Inf"} 0\n', "bucket bounds")
local hd = histogram("hd", "hd")
T.eq(#hd.buckets, 14, "default buckets")

-- A custom collector appending plain metric tables.
local cr = registry.new()
local custom = {
	collect = function(_, buf)
		buf[#buf + 1] = {name = "custom_things", help = "Things.", kind = "gauge", value = 100}
		buf[#buf + 1] = {name = "custom_raw", kind = "untyped", value = 1.5}
	end,
}
cr:register(custom)
T.eq(prometheus.gather(cr), "# HELP custom_things Things.\n# TYPE custom_things gauge\ncustom_things 100\n# TYPE custom_raw untyped\ncustom_raw 1.5\n", "custom collector")
cr:unregister(custom)
cr:unregister(custom)
T.eq(prometheus.gather(cr), "", "unregister")
T.eq(#cr:collect(), 0, "collect of an empty registry")

-- Errors: programmer mistakes raise, naming the function and argument.
T.raises("bad argument #1 to 'counter' %(invalid metric name \"1abc\"%)", "bad metric name", counter, "1abc", "h")
T.raises("bad argument #1 to 'gauge' %(invalid metric name \"a%-b\"%)", "dash in a name", gauge, "a-b", "h")
T.raises("bad argument #1 to 'counter' %(string expected, got nil%)", "missing name", counter)
T.raises("bad argument #2 to 'histogram' %(string expected, got nil%)", "missing help", histogram, "h")
T.raises("bad argument #3 to 'counter' %(invalid label name \"a b\"%)", "bad label name", counter, "c", "h", {"a b"})
T.raises("bad argument #3 to 'counter' %(invalid label name \"__x\"%)", "reserved label prefix", counter, "c", "h", {"__x"})
T.raises("bad argument #3 to 'counter' %(duplicate label name \"a\"%)", "duplicate label", counter, "c", "h", {"a", "a"})
T.raises("bad argument #3 to 'histogram' %(label name \"le\" is reserved%)", "le on a histogram", histogram, "h", "h", {"le"})
T.raises("bad argument #4 to 'histogram' %(buckets repeat 1%)", "repeated bucket", histogram, "h", "h", nil, {1, 1})
T.raises("bad argument #4 to 'histogram' %(bucket 2 is not a number%)", "NaN bucket", histogram, "h", "h", nil, {1, 0 / 0})
local c = counter("c_total", "c")
T.raises("metrics.lua:%d+: bad argument #1 to 'inc' %(counter cannot decrease%)", "negative inc, at the caller", function()
	c:inc(-1)
end)
T.raises("bad argument #1 to 'add' %(counter cannot decrease%)", "negative add", c.add, c, -0.5)
T.raises("bad argument #1 to 'add' %(counter cannot decrease%)", "NaN add", c.add, c, 0 / 0)
T.raises("bad argument #1 to 'inc' %(number expected, got string%)", "string inc", c.inc, c, "1")
T.eq(c.value, 0, "refused steps change nothing")
T.raises("bad argument #1 to 'set' %(number expected, got nil%)", "gauge set nil", g.set, g)
T.raises("bad argument #1 to 'observe' %(number expected, got boolean%)", "observe boolean", latency.observe, latency, true)
T.raises("bad argument #1 to 'labels' %(2 label values expected, got 1%)", "too few label values", requests.labels, requests, "GET")
T.raises("bad argument #2 to 'labels' %(string expected, got table%)", "table label value", requests.labels, requests, "GET", {})
T.raises("bad argument #1 to 'labels' %(label value is not valid UTF%-8%)", "invalid UTF-8", requests.labels, requests, "\xff", "x")
T.eq(#requests.children, 3, "refused label values made no child")
T.raises("bad argument #1 to 'labels' %(metric \"c_total\" has no labels%)", "labels on a plain counter", c.labels, c, "x")
T.raises("bad argument #1 to 'inc' %(metric \"app_requests_total\" has labels: call labels%(...%) first%)", "inc on a family", requests.inc, requests)
T.raises("bad argument #1 to 'observe' %(metric \"app_size_bytes\" has labels", "observe on a family", sizes.observe, sizes, 1)
T.raises("bad argument #1 to 'register' %(metric \"app_requests_total\" is already registered%)", "one name, one metric", r.register, r, counter("app_requests_total", "again"))
T.raises("bad argument #1 to 'register' %(collector expected", "register a non-collector", r.register, r, {})
T.raises("bad argument #1 to 'gather' %(registry expected, got table%)", "gather a non-registry", prometheus.gather, {})
local broken = registry.new()
broken:register({collect = function(_, buf)
	buf[#buf + 1] = {name = "bad name", kind = "gauge", value = 1}
end})
T.raises("gather: metric bad name: invalid name", "gather refuses a bad collected name", prometheus.gather, broken)
local broken2 = registry.new()
broken2:register({collect = function(_, buf)
	buf[#buf + 1] = {name = "ok", kind = "gauge", value = "1"}
end})
T.raises("gather: metric ok: value is not a number", "gather refuses a bad collected value", prometheus.gather, broken2)

-- The default registry: prometheus.counter & co. register there; gather() lists them after
-- the built-in collectors.
local hits = prometheus.counter("test_hits_total", "Hits.")
hits:inc()
T.check(prometheus.registry():collect()[1], "default registry collects")
local text = prometheus.gather()
T.match(text, "\ntest_hits_total 1\n$", "default registry: own metrics last")
T.match(text, "^# HELP silly_tasks_alive ", "default registry: runtime collector first")
T.match(text, "\nprocess_cpu_seconds_total [%d.e+-]+\n", "default registry: process collector")
T.raises("already registered", "prometheus.counter twice with one name", prometheus.counter, "test_hits_total", "Hits.")
T.eq(prometheus.CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8", "content type")

T.done()
