-- Scenario C of bench/run: GET userinfo with a valid access token.
-- The token comes from the environment (BENCH_TOKEN), set by bench/run after it
-- has signed a demo user in with the authorization code flow; the URL is wrk's.
local token = os.getenv("BENCH_TOKEN")
if token == nil or token == "" then
	error("BENCH_TOKEN is not set: run this through bench/run")
end
wrk.method = "GET"
wrk.headers["Authorization"] = "Bearer " .. token
