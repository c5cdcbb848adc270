z
eng