module pionav1

go 1.19
