# Sourced by scripts/node-apps-test.sh and scripts/python-apps-test.sh (needs ROOT and LEVEE).
# Scaffolds one app with the real `levee new` (no prompts), using the starter-suite org config.
scaffold_app() { # TEMPLATE-ID DIR
  local tpl="$1" dir="$2" kind="${1%-*}"
  # The pack is read from templates/ itself, so the apps are always the current tree (not the copy
  # embedded in a levee binary built before the last template edit).
  local args=(new "$dir" --no-input --org "$ROOT/tests/fixtures/apps.levee.org.yaml" --templates "$ROOT/templates"
    --template "$tpl" --name "levee-$tpl" --description "Example $kind app scaffolded by the test suite"
    --owner jane.doe@example.com --team platform --classification internal --tier prototype
    --sso-issuer https://login.example.com --dataset "example:read:try the $kind starter"
    --cost-center CC-1234
    # The suites start the apps with their secrets in environment variables: the user's choice
    # of store, which levee follows for the secrets the template adds.
    --secret SESSION_SECRET:env)
  # The settings each template declares (app.yaml `settings`), as a user gives them.
  case "$kind" in
    dashboard) args+=(--sso-group ops-team
      --setting DASHBOARD_DATA_SOURCE=https://data.example.com/sales.json --egress data.example.com) ;;
    form) args+=(--sso-group finance --sso-group finance-approvers) ;;
    webhook) args+=(--sso-group integrations
      --setting DOWNSTREAM_URL=https://api.payments.example.com/events --egress api.payments.example.com) ;;
  esac
  rm -rf "$dir"
  "$LEVEE" "${args[@]}" >/dev/null
}
