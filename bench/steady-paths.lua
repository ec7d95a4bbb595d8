-- wrk script: like random-paths.lua, but each connection waits DELAY_MS between its
-- requests, so that the load is a steady rate (about connections x 1000 / DELAY_MS a
-- second while answers are quick) instead of as many as the server can answer.
local paths = {}
for line in io.lines(os.getenv("PATHS_FILE")) do
  paths[#paths + 1] = line
end
local pause = tonumber(os.getenv("DELAY_MS"))
wrk.headers["User-Agent"] =
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"

math.randomseed(os.time())

request = function()
  return wrk.format("GET", paths[math.random(#paths)])
end

delay = function()
  return pause
end
