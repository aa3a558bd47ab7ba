-- Scenario F: refresh, each request with a refresh token an earlier answer
-- gave. BENCH_TOKENS holds one refresh token per connection (one per line);
-- each wrk thread keeps a pool of its share: a request takes one out, its
-- answer puts the new one in (a provider that rotates refresh tokens) or the
-- one sent back (one that does not: the first one taken that is still out,
-- as any unrotated token stays valid). wrk calls the first thread's request()
-- once before the load to check it: the harness gives each thread a spare.
-- BENCH_AUTHZ and BENCH_FORM as in code.lua.
local threads, count = {}, 0

function setup(thread)
	thread:set("id", count)
	count = count + 1
	table.insert(threads, thread)
end

function init(args)
	local n, k = tonumber(os.getenv("BENCH_THREADS")), 0
	pool, out, short, rotated = {}, {}, 0, 0
	for line in io.lines(os.getenv("BENCH_TOKENS")) do
		if k % n == id then
			pool[#pool + 1] = line
		end
		k = k + 1
	end
	path = os.getenv("BENCH_PATH")
	form = os.getenv("BENCH_FORM") or ""
	headers = { ["Content-Type"] = "application/x-www-form-urlencoded" }
	local authz = os.getenv("BENCH_AUTHZ")
	if authz and authz ~= "" then
		headers["Authorization"] = authz
	end
end

local function urlencode(s)
	return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

function request()
	local t = table.remove(pool)
	if t == nil then
		-- Every token is out and failed answers lost some: stop, counted.
		short = short + 1
		wrk.thread:stop()
		t = out[1] or "none"
	else
		out[#out + 1] = t
	end
	return wrk.format("POST", path, headers, "grant_type=refresh_token&refresh_token=" .. urlencode(t) .. form)
end

function response(status, headers, body)
	local sent = table.remove(out, 1)
	local new = body:match('"refresh_token"%s*:%s*"([^"]+)"')
	if new and new ~= sent then
		rotated = rotated + 1
		pool[#pool + 1] = new
	elseif sent and status == 200 then
		pool[#pool + 1] = sent
	end
end

function done(summary, latency, requests)
	local s, r = 0, 0
	for _, t in ipairs(threads) do
		s = s + (t:get("short") or 0)
		r = r + (t:get("rotated") or 0)
	end
	io.write(string.format("tokens ran out: %d\nrotated: %d\n", s, r))
end
