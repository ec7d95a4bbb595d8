-- wrk script: GET a random path from PATHS_FILE on every request, with a phone's user agent.
local paths = {}
for line in io.lines(os.getenv("PATHS_FILE")) do
  paths[#paths + 1] = line
end
wrk.headers["User-Agent"] =
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"

math.randomseed(os.time())

request = function()
  return wrk.format("GET", paths[math.random(#paths)])
end
