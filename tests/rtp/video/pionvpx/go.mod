module pionvpx

go 1.19
