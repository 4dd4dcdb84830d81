module demo-module

go 1.23
