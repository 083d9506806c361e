-- wrk script: every request a path never requested before, so none is served from a cache.
--
--   wrk -s bench/uncached.lua http://127.0.0.1:8000 -- <ceiling> <path> [<path> ...]
--
-- The paths (already URL-encoded) are requested in turn, each with a unique
-- `max_price=<ceiling>.<thread, 3 digits><count>` appended. The ceiling (at least 10^8) is above
-- every price, so the page is the one without it, but JoyCart's page cache keys on the
-- parameters a view reads, so every distinct value misses. A fresh ceiling per run keeps one
-- run (or round, or warm-up) from hitting the next's keys. bench/loadgen.py's UncachedPaths
-- builds the same paths for the Python generator.

local threads = 0

function setup(thread)
   -- Runs in wrk's main Lua state, once per thread, before the thread's init().
   threads = threads + 1
   thread:set("thread_number", threads)
end

local paths = {}
local prefix
local count = 0

function init(args)
   -- args[0] is the URL; args[1] the ceiling; args[2..] the paths.
   if #args < 2 then
      error("usage: wrk -s uncached.lua <url> -- <ceiling> <path> [<path> ...]")
   end
   for i = 2, #args do
      local path = args[i]
      local separator = path:find("?", 1, true) and "&" or "?"
      paths[#paths + 1] = path .. separator .. "max_price="
   end
   -- A fixed-width thread number, so no two threads' values can ever spell the same digits.
   prefix = args[1] .. "." .. string.format("%03d", thread_number)
end

function request()
   count = count + 1
   return wrk.format(nil, paths[(count - 1) % #paths + 1] .. prefix .. count)
end
