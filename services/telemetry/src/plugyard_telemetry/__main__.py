from plugyard_telemetry.main import main

main()
