-- A route table that cannot work (spec/openresty/ops_nginx_test.lua, ROUTER_ROUTES=openresty.bad_routes): a
-- target names a constructor that does not exist. nginx must refuse to start, naming it.
return {
  routes = { default = { targets = { { name = "typo", adapter = "create_workers_ai_chta",
    model = "@cf/meta/llama-3.1-8b-instruct" } } } },
}
