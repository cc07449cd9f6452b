print("tinyc")
