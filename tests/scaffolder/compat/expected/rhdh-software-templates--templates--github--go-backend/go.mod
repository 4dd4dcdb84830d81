module github.com/demo-orgname/demo-reponame

go 1.16
