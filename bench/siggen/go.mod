module siggen

go 1.19
