module github.com/ticketgate/ticketing

go 1.26

require github.com/dlclark/regexp2/v2 v2.13.3
