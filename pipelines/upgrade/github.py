

# GitHub: describe the upgrade for peter-evans/create-pull-request (body file, step outputs), and
# decide whether the job may update the branch (no one else has committed to its open request).


def github_api(path):
    url = os.environ.get("GITHUB_API_URL", "https://api.github.com") + path
    request = urllib.request.Request(url, headers={
        "Accept": "application/vnd.github+json",
        "Authorization": "Bearer " + os.environ["GH_TOKEN"],
        "X-GitHub-Api-Version": "2022-11-28",
    })
    return fetch(request, "GitHub")


def someone_else_committed(author):
    """The open pull request from BRANCH has a commit by someone other than `author`."""
    repo = os.environ["GITHUB_REPOSITORY"]
    head = urllib.parse.quote(repo.split("/")[0] + ":" + BRANCH, safe="")
    for pull in github_api("/repos/%s/pulls?state=open&head=%s" % (repo, head)):
        commits = github_api("/repos/%s/pulls/%d/commits?per_page=100" % (repo, int(pull["number"])))
        for c in commits:
            if ((c.get("commit") or {}).get("author") or {}).get("email") != author:
                log("pull request #%d has a commit by someone else: left alone. It is yours now: "
                    "merge or close it, and the next run starts afresh." % int(pull["number"]))
                return True
    return False


def github_main(report_path, body_path):
    report = load_report(report_path)
    note = ""
    if os.environ.get("LEVEE_UPGRADE_TOKEN_SET") != "true":
        note = ("this pull request was opened with the workflow's own `GITHUB_TOKEN`, and GitHub "
                "starts no workflow for a pull request opened that way: close and reopen it to run "
                "the checks, or store a token in the `%s` secret (see the platform team's levee "
                "docs, fleet-upgrades.md)." % os.environ.get("LEVEE_UPGRADE_TOKEN_SECRET", ""))
    labels = os.environ.get("LEVEE_UPGRADE_LABELS", "").split(",")
    upgrade = Upgrade(report, labels, os.environ.get("LEVEE_UPGRADE_CONFLICT_LABEL", ""), note)
    with open(body_path, "w", encoding="utf-8") as f:
        f.write(upgrade.body)
    for a in upgrade.failed:
        log("the upgrade of %s failed: %s" % (visible(a.get("app")), visible(a.get("error"))))
    if upgrade.failed:
        return 1
    update = not someone_else_committed(identity_email(os.environ["LEVEE_UPGRADE_AUTHOR"]))
    with open(os.environ["GITHUB_OUTPUT"], "a", encoding="utf-8") as out:
        out.write("title=%s\n" % upgrade.title)
        out.write("labels=%s\n" % ",".join(upgrade.labels))
        out.write("conflicts=%s\n" % ("true" if upgrade.conflicts else "false"))
        out.write("update=%s\n" % ("true" if update else "false"))
    if upgrade.conflicts:
        log("the upgrade left conflicts: they are committed with their markers for a person to resolve")
    return 0


if __name__ == "__main__":
    sys.exit(github_main(sys.argv[1], sys.argv[2]))
