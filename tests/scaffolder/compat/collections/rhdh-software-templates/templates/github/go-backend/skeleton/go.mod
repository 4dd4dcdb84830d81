module ${{ values.sourceControl }}/${{ values.orgName }}/${{ values.repoName }}

go 1.16
