-- wrk script of tests/benchmarks/checkout.py: every buyer checks out one unit, pays with the
-- sandbox and confirms, each step sent when the previous one's response arrives.
-- Env: BENCH_BUYERS (file of "token address_id sku_id" lines), BENCH_THREADS, BENCH_HOST.
-- A connection with no step to send waits 200 ms, then polls the status of a payment already
-- made (as a client waiting for its payment does); a thread stops when all its buyers are done. wrk sometimes
-- drops a request (the first thread's first one is generated to check the script): that one is
-- a dummy; should a pay or confirm step get no answer, when nothing progresses for a while it is
-- sent again, which the Idempotency-Key (pay) and the confirm's idempotence make safe; a lost
-- checkout ends the run after --max-idle polls and is reported as lost.

local threads = {}
local count = 0

function setup(thread)
  count = count + 1
  thread:set("tid", count)
  table.insert(threads, thread)
end

function init(args)
  local nthreads = tonumber(os.getenv("BENCH_THREADS"))
  host = os.getenv("BENCH_HOST")
  buyers = {}
  local index = 0
  for line in io.lines(os.getenv("BENCH_BUYERS")) do
    index = index + 1
    if (index - 1) % nthreads == tid - 1 then
      local token, address, sku = line:match("(%S+) (%S+) (%S+)")
      table.insert(buyers, {token = token, address = address, sku = sku, index = index})
    end
  end
  by_index = {}
  for _, buyer in ipairs(buyers) do by_index[tostring(buyer.index)] = buyer end
  by_number = {}
  queue = {}
  next_buyer = 1
  ok, sold_out, failed, paid, polls, done_count = 0, 0, 0, 0, 0, 0
  idle = 0
  resent = 0
  resend_after = tonumber(os.getenv("BENCH_RESEND_AFTER") or "100")
  max_idle = tonumber(os.getenv("BENCH_MAX_IDLE") or "2000")
  last_poll = nil
end

local function headers(token, idempotency)
  local h = {["Host"] = host, ["Authorization"] = "Bearer " .. token,
             ["Content-Type"] = "application/json"}
  if idempotency then h["Idempotency-Key"] = idempotency end
  return h
end

function delay()
  -- Steps go out at once; a connection with nothing to do waits before its poll.
  if #queue > 0 or next_buyer <= #buyers then
    return 0
  end
  return 200
end

function request()
  if tid == 1 and not verified then
    -- wrk calls request() once on the first thread to check it, and drops what it returns.
    verified = true
    return wrk.format("GET", "/healthz", {["Host"] = host})
  end
  if #queue > 0 then
    local step = table.remove(queue, 1)
    step.buyer.last = step.request
    return step.request
  end
  if next_buyer <= #buyers then
    local buyer = buyers[next_buyer]
    next_buyer = next_buyer + 1
    local body = string.format(
      '{"items":[{"sku_id":%s,"quantity":1}],"address_id":%s,"buyer_note":"%d","channel":"h5"}',
      buyer.sku, buyer.address, buyer.index)
    return wrk.format("POST", "/api/v1/checkout", headers(buyer.token, "c" .. buyer.index), body)
  end
  polls = polls + 1
  idle = idle + 1
  if idle % resend_after == 0 then
    for _, buyer in ipairs(buyers) do
      if buyer.last and not buyer.done then
        resent = resent + 1
        table.insert(queue, {buyer = buyer, request = buyer.last})
      end
    end
  end
  if idle > max_idle then
    -- Nothing has progressed for a long while: a step was lost (the Python side reports it).
    wrk.thread:stop()
  end
  if last_poll then
    return wrk.format("GET", last_poll.path, headers(last_poll.token))
  end
  return wrk.format("GET", "/healthz", {["Host"] = host})
end

local function finish()
  done_count = done_count + 1
  if done_count >= #buyers then
    wrk.thread:stop()
  end
end

function response(status, hdrs, body)
  local number = body:match('"number":%s*"(%d+)"')
  local note = body:match('"buyer_note":%s*"(%d+)"')
  local confirm = body:match('"confirm_path":%s*"([^"]+)"')
  local code = body:match('"code":%s*"([%w_]+)"')
  if status == 201 or status == 409 or (status == 200 and body:match('"sandbox"')) then
    idle = 0  -- a step answered (not a poll)
  end
  if status == 201 and number and note then
    -- checkout done: pay
    ok = ok + 1
    local buyer = by_index[note]
    by_number[number] = buyer
    table.insert(queue, {buyer = buyer, request = wrk.format("POST",
      "/api/v1/orders/" .. number .. "/pay", headers(buyer.token, "p" .. number),
      '{"method":"sandbox"}')})
  elseif status == 201 and confirm then
    -- pay started: confirm
    local buyer = by_number[confirm:match("/payments/(%d+)P")]
    table.insert(queue, {buyer = buyer, request = wrk.format("POST", confirm, headers(buyer.token), "{}")})
  elseif status == 200 and body:match('"status":%s*"succeeded"') then
    -- confirmed (or a poll of a payment confirmed before: counted once)
    local out_trade_no = body:match('"out_trade_no":%s*"([%w]+)"')
    local buyer = out_trade_no and by_number[out_trade_no:match("^(%d+)P")]
    if buyer and not buyer.done then
      buyer.done = true
      paid = paid + 1
      last_poll = {path = "/api/v1/payments/" .. out_trade_no, token = buyer.token}
      finish()
    end
  elseif status == 409 and code == "sold_out" then
    sold_out = sold_out + 1
    finish()
  elseif status >= 400 then
    failed = failed + 1
    io.stderr:write("failed: " .. status .. " " .. body:sub(1, 200) .. "\n")
    finish()
  end
end

function done(summary, latency, requests)
  local totals = {ok = 0, sold_out = 0, failed = 0, paid = 0, polls = 0, resent = 0}
  for _, thread in ipairs(threads) do
    for name, _ in pairs(totals) do
      totals[name] = totals[name] + (thread:get(name) or 0)
    end
  end
  io.write(string.format(
    "CHECKOUT ok=%d sold_out=%d failed=%d paid=%d polls=%d resent=%d duration_us=%d\n",
    totals.ok, totals.sold_out, totals.failed, totals.paid, totals.polls, totals.resent,
    summary.duration))
end
