module github.com/ticketgate/ticketing

go 1.26

require (
	github.com/dlclark/regexp2/v2 v2.13.3
	github.com/google/go-cmp v0.7.0
	github.com/stretchr/testify v1.12.1
)

require go.yaml.in/yaml/v3 v3.0.5 // indirect
