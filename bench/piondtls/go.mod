module piondtls

go 1.19
