from django.urls import path, re_path

from portal.providers.local_git import http_backend, views

app_name = "git"

_SEG = r"[A-Za-z0-9][A-Za-z0-9._-]*"

urlpatterns = [
    path("", views.repo_list, name="repo-list"),
    # Smart-HTTP clone URL: /git/<owner>/<name>.git  (read-only, upload-pack only)
    re_path(
        rf"^(?P<owner>{_SEG})/(?P<name>{_SEG}?)\.git/(?P<rest>info/refs|git-upload-pack|git-receive-pack)$",
        http_backend.git_http_backend,
        name="http-backend",
    ),
    path("<str:owner>/<str:name>/", views.repo_detail, name="repo"),
    path("<str:owner>/<str:name>/blob/<path:path>", views.blob, name="blob"),
    path("<str:owner>/<str:name>/pulls/", views.pull_list, name="pull-list"),
    path("<str:owner>/<str:name>/pulls/<int:number>/", views.pull_detail, name="pull"),
    path("<str:owner>/<str:name>/pulls/<int:number>/merge", views.pull_merge, name="pull-merge"),
    path("<str:owner>/<str:name>/pulls/<int:number>/close", views.pull_close, name="pull-close"),
]
