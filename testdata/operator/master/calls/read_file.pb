*6
./frameworks/F1/executors/E1/runs/latest/stdout€€ 