

# GitLab: commit the upgrade to BRANCH, push it, and open or update its merge request through the
# API with the project access token the org config names. The first push of a new request skips
# its branch pipeline (`ci.skip`): opening the request starts the merge request pipeline, so the
# gates run once.

def git(*args, check=True, env=None):
    import subprocess

    cmd = ["git", "-c", "safe.directory=" + os.getcwd()] + list(args)
    done = subprocess.run(cmd, check=False, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if check and done.returncode != 0:
        raise SystemExit("levee upgrade: git %s failed: %s" % (args[0], visible(done.stderr.strip())))
    return done.stdout


class GitLab:
    def __init__(self, token):
        self.base = os.environ["CI_API_V4_URL"] + "/projects/" + os.environ["CI_PROJECT_ID"]
        self.token = token

    def api(self, method, path, data=None):
        body = None if data is None else json.dumps(data).encode("utf-8")
        request = urllib.request.Request(self.base + path, data=body, method=method, headers={
            "PRIVATE-TOKEN": self.token,
            "Content-Type": "application/json",
        })
        return fetch(request, "GitLab")


def gitlab_main(report_path):
    report = load_report(report_path)
    labels = os.environ.get("LEVEE_UPGRADE_LABELS", "").split(",")
    upgrade = Upgrade(report, labels, os.environ.get("LEVEE_UPGRADE_CONFLICT_LABEL", ""))
    with open(os.path.join(os.path.dirname(report_path), "body.md"), "w", encoding="utf-8") as f:
        f.write(upgrade.body)
    for a in upgrade.failed:
        log("the upgrade of %s failed: %s" % (visible(a.get("app")), visible(a.get("error"))))
    if upgrade.failed:
        return 1
    variable = os.environ["LEVEE_UPGRADE_TOKEN_VARIABLE"]
    token = os.environ.get(variable, "")
    if not token:
        log("the CI/CD variable %s is not set: store a project access token there (scopes api and "
            "write_repository, role Developer), masked" % variable)
        return 1
    author = os.environ["LEVEE_UPGRADE_AUTHOR"]
    email = identity_email(author)
    name = author.rsplit("<", 1)[0].strip()
    gitlab = GitLab(token)
    target = os.environ["CI_DEFAULT_BRANCH"]
    query = urllib.parse.urlencode({"state": "opened", "source_branch": BRANCH, "target_branch": target})
    opened = gitlab.api("GET", "/merge_requests?" + query)
    mr = opened[0] if opened else None
    if mr:
        for c in gitlab.api("GET", "/merge_requests/%d/commits?per_page=100" % int(mr["iid"])):
            if c.get("author_email") != email:
                log("merge request !%d has a commit by someone else: left alone. It is yours now: "
                    "merge or close it, and the next run starts afresh." % int(mr["iid"]))
                return 0
    # levee's cache (.levee-bin/) and this job's report (.levee-upgrade/) live in the checkout;
    # the job lists them in .git/info/exclude, so they are neither changes nor committed.
    if not git("status", "--porcelain").strip():
        if mr:
            gitlab.api("PUT", "/merge_requests/%d" % int(mr["iid"]), {"state_event": "close"})
            log("nothing to upgrade any more: closed merge request !%d" % int(mr["iid"]))
        else:
            log("the app is on the newest template version: nothing to do")
        return 0
    git("add", "-A")
    git("-c", "user.name=" + name, "-c", "user.email=" + email, "commit", "--quiet", "--no-verify",
        "--author", author, "-m", upgrade.title)
    env = dict(os.environ, LEVEE_UPGRADE_GIT_TOKEN=token)
    helper = '!f() { test "$1" = get && echo username=levee && echo "password=$LEVEE_UPGRADE_GIT_TOKEN"; }; f'
    auth = ["-c", "credential.helper=", "-c", "credential.helper=" + helper]
    remote = os.environ["CI_PROJECT_URL"] + ".git"
    if mr:
        # The same upgrade as the branch already holds: nothing to push, no pipeline to start.
        git(*auth, "fetch", "--quiet", "--depth", "1", remote, "refs/heads/" + BRANCH, env=env)
        if git("rev-parse", "HEAD^{tree}") == git("rev-parse", "FETCH_HEAD^{tree}"):
            log("merge request !%d already holds this upgrade" % int(mr["iid"]))
            return 0
    push = [*auth, "push", "--quiet", "--force"]
    if not mr:
        push += ["-o", "ci.skip"]
    git(*push, remote, "HEAD:refs/heads/" + BRANCH, env=env)
    conflict_label = os.environ.get("LEVEE_UPGRADE_CONFLICT_LABEL", "")
    if mr:
        update = {"title": upgrade.title, "description": upgrade.body, "add_labels": ",".join(upgrade.labels)}
        if conflict_label and not upgrade.conflicts:
            update["remove_labels"] = conflict_label
        done = gitlab.api("PUT", "/merge_requests/%d" % int(mr["iid"]), update)
        log("updated merge request !%d" % int(done.get("iid", mr["iid"])))
    else:
        done = gitlab.api("POST", "/merge_requests", {
            "source_branch": BRANCH,
            "target_branch": target,
            "title": upgrade.title,
            "description": upgrade.body,
            "labels": ",".join(upgrade.labels),
            "remove_source_branch": True,
        })
        log("opened merge request !%d" % int(done.get("iid", 0)))
    return 0


if __name__ == "__main__":
    sys.exit(gitlab_main(sys.argv[1]))
