from utauproxy.cli import main

main()
