B
Framework failed over