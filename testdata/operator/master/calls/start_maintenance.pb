b 

rack1-a10.0.1.1
	
rack1-b