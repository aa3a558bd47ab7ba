-- Scenario D: the authorization-code exchange, one code per request.
-- The harness minted the codes beforehand (one per line in BENCH_CODES); wrk's
-- threads take every BENCH_THREADS-th line each, so no code is sent twice.
-- BENCH_AUTHZ: the Authorization header (client_secret_basic), or empty;
-- BENCH_FORM: the rest of the form ("&redirect_uri=…", client_id/secret for
-- client_secret_post), already URL-encoded.
local threads, count = {}, 0

function setup(thread)
	thread:set("id", count)
	count = count + 1
	table.insert(threads, thread)
end

function init(args)
	local n, k = tonumber(os.getenv("BENCH_THREADS")), 0
	codes, used, short = {}, 0, 0
	for line in io.lines(os.getenv("BENCH_CODES")) do
		if k % n == id then
			codes[#codes + 1] = line
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

function request()
	used = used + 1
	local code = codes[used]
	if code == nil then
		-- Out of codes: this thread stops; the request below reuses a code
		-- and is counted as a failure, so a short supply cannot pass unseen.
		short = short + 1
		wrk.thread:stop()
		code = codes[#codes]
	end
	return wrk.format("POST", path, headers, "grant_type=authorization_code&code=" .. code .. form)
end

function done(summary, latency, requests)
	local s = 0
	for _, t in ipairs(threads) do
		s = s + (t:get("short") or 0)
	end
	io.write(string.format("codes ran out: %d\n", s))
end
