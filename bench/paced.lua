-- Paced wrk: each connection waits before its next request so that all connections together
-- offer about `rate` requests per second (a little less: the wait comes after each answer).
-- Usage: wrk -s bench/paced.lua ... URL -- RATE CONNECTIONS
-- Each wrk thread runs its own copy: C/T connections per thread, each offering 1000/wait
-- req/s, make C*1000/wait = RATE in all.
local threads = 0
local wait_ms = 0

function setup(thread)
  threads = threads + 1
  thread:set("number", threads)
end

function init(args)
  local rate, connections = tonumber(args[1]), tonumber(args[2])
  wait_ms = connections * 1000 / rate
  -- Each thread its own random sequence (they would all start from the same seed).
  math.randomseed(os.time() * 100 + number)
end

-- A fixed wait keeps the connections in step, all sending at once: bursts of C requests that
-- queue in the proxy. A random wait, uniform in [0, 2 x mean), spreads them out in a few
-- rounds. wrk truncates to whole milliseconds, so the rounding is random too (the mean stays).
function delay()
  return math.floor(math.random() * 2 * wait_ms + math.random())
end
